from vigor_lsp.server import main

main()
