"""What a job may run: the allow-list, the names in it, and the target read from it."""

import pytest

from critic.errors import InvalidName, SettingsError
from critic.jobs import submit
from critic.jobs.commands import check_command, kind_of, target_of


@pytest.mark.parametrize(
    "argv,kind,target",
    [
        (["train", "--dataset", "tiny", "--preset", "linear", "--name", "lin-1"], "train", "lin-1"),
        (["train", "--resume=lin-1", "--epochs", "3"], "train", "lin-1"),
        (["train", "--dataset", "tiny@1", "--preset", "linear"], "train", None),
        (["evaluate", "lin-1", "--subset", "test"], "evaluate", "lin-1"),
        (["data", "import", "reviews", "--source", "/data/r.csv"], "import", "reviews"),
        (["data", "split", "reviews@2", "--validation-fraction", "0.1"], "split", "reviews@2"),
        (["data", "stats", "reviews"], "stats", "reviews"),
    ],
)
def test_allowed_commands_their_kind_and_target(argv, kind, target):
    assert kind_of(argv) == kind
    assert check_command(kind, argv) == tuple(argv)
    assert target_of(kind, argv) == target


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "lin-1", "--file", "x.csv", "--output", "/etc/x"],
        ["serve"],
        ["deploy", "create", "d", "--experiment", "lin-1"],
        ["--debug", "train"],
        ["sh", "-c", "rm -rf /"],
        ["data", "list"],
        [],
    ],
)
def test_commands_outside_the_allow_list_are_refused(workspace, argv):
    with pytest.raises(SettingsError, match="a job runs one of `critic train`"):
        kind_of(argv)
    with pytest.raises(SettingsError):
        submit("train", argv, workspace=workspace)
    assert not workspace.catalog_path.exists() or not _jobs(workspace)


def _jobs(workspace):
    from critic.catalog import open_catalog

    return open_catalog(workspace).jobs()


@pytest.mark.parametrize(
    "kind,argv,error",
    [
        ("train", ["train", "--dataset", "tiny", "--name", "../evil"], InvalidName),
        ("train", ["train", "--name=a b", "--dataset", "tiny"], InvalidName),
        ("train", ["train", "--dataset", "tiny@0"], InvalidName),
        ("evaluate", ["evaluate", "../../etc"], InvalidName),
        ("evaluate", ["evaluate", "--subset", "test"], SettingsError),  # the experiment comes first
        ("import", ["data", "import", "con", "--source", "x.csv"], InvalidName),
        ("train", "train --dataset tiny", SettingsError),  # one string: never a shell line
        ("train", ["train", "--dataset", "tiny\x00"], SettingsError),
        ("evaluate", ["train", "--dataset", "tiny"], SettingsError),  # kind and command disagree
        ("shell", ["train"], SettingsError),
    ],
)
def test_unsafe_names_and_malformed_commands_are_refused(workspace, kind, argv, error):
    with pytest.raises(error):
        submit(kind, argv, workspace=workspace)


def test_a_submitted_job_is_queued_with_its_log_under_the_workspace(workspace):
    job = submit(
        "train",
        ["train", "--dataset", "tiny", "--preset", "linear", "--name", "lin-1"],
        user="alice",
        workspace=workspace,
    )
    assert (job.state, job.kind, job.target, job.user, job.executor) == (
        "queued",
        "train",
        "lin-1",
        "alice",
        "local",
    )
    assert job.log == f"jobs/{job.id}.log" and job.command.startswith("critic train --dataset")
    assert _jobs(workspace) == [job]
    with pytest.raises(InvalidName):
        submit("stats", ["data", "stats", "tiny"], user="../root", workspace=workspace)
    with pytest.raises(InvalidName):
        submit("stats", ["data", "stats", "tiny"], target="a/b", workspace=workspace)
