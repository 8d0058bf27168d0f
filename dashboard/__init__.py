"""The app shell: ``app.py`` (st.navigation), ``navigation.py`` (PAGE_TABLE, one line per page),
``sidebar.py`` (corpus, encoders, k → ``Context``), ``services/`` (every ``st.cache_*`` and every
call into core that computes, one module per page family), ``session.py`` (state that belongs to one corpus, the query trail),
``urlstate.py`` (the query in the URL), ``components/`` (widgets shared by several pages).

Widgets used by one page only live beside it, in ``pages/<page>_widgets.py``.
"""
