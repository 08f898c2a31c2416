from os1.cli import main

main()
