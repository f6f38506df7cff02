from ai_lib_python.cli._main import main

raise SystemExit(main())
