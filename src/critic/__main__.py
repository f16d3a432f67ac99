"""`python -m critic` (and `torchrun … -m critic train …`): the same as the `critic` command."""

from critic.cli.app import main

main()
