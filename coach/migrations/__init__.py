"""SQL schema migrations of the session store, applied in order by :mod:`coach.store`.

Each file is ``NNNN_name.sql``; NNNN is the schema version it produces. Never edit a released
file: add a new one.
"""
