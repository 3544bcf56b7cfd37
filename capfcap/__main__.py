from capfcap.cli import main

raise SystemExit(main())
