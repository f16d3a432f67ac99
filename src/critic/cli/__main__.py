"""`python -m critic.cli`: the same as the `critic` command."""

from critic.cli.app import main

main()
