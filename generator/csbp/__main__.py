from csbp.cli import main

raise SystemExit(main())
