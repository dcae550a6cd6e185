"""Builders and checks the test modules share; tests/conftest.py holds only pytest fixtures.

Test modules import them as ``from helpers.<module> import ...`` (pytest puts tests/ on
``sys.path`` for the test modules it collects; the child interpreters some tests start put it
there themselves).

- data.py: AeroDB's reference data, copied before anything writes; trees compared.
- archives.py: archives taken apart and rebuilt by hand, hostile ones included; damaged bytes.
- faults.py: FileOps that fail, count or kill; real file-system faults; running as nobody.
- cli.py: the command line, in this process or in a fresh interpreter.
- notebooks.py: the runbooks executed with papermill, and what they showed.
- html.py: the HTML of panels and tables as text.
- retention.py: inventory rows and folders of daily backups for the retention tests.
"""
