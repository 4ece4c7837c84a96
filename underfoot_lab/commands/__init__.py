"""CLI subcommands, one module each (like papermill's engines, registered by module name).

A module here defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``,
and imports anything heavy inside ``run`` so ``underfoot-lab --help`` stays instant. The module
``foo_bar`` becomes the subcommand ``foo-bar``.
"""
