from robust_eval.cli import main

main()
