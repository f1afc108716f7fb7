"""`python -m mock_server.cli`: the command line, where the script is not on PATH."""

from mock_server.cli import main

main()
