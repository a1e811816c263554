"""qyzj-analytics: 乐清市企业之家平台运营分析.

One subpackage per stage of the data flow (raw → processed → metrics → notebooks → reports):
:mod:`ingest` → :mod:`scoring` → :mod:`forecast` → :mod:`reporting`, on top of :mod:`contract`
and :mod:`dates`; :mod:`sample` writes sample exports, :mod:`cli` is the ``qyzj`` command.
docs/design.md has the map. Importing the package imports nothing heavy.
"""

__version__ = "0.1.0"
