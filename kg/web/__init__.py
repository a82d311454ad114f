"""The graph on the web (the surface above the library): :mod:`kg.web.app` builds and
runs the application; :mod:`kg.web.endpoint` and :mod:`kg.web.pages` hold the handlers;
:mod:`kg.web.workers` runs client queries in processes confined by
:mod:`kg.web.sandbox`; :mod:`kg.web.protocol` has the SPARQL Protocol's rules.

Nothing is imported here, so that a worker process importing
:mod:`kg.web.workers` loads neither Starlette nor the pages.
"""
