"""The programme database: a Django project (settings ``inventory.server.settings``).

Apps by domain: ``benches`` (benches, keys, API tokens, refused uploads), ``devices``
(laptops, the identifiers that recognise them, their lifecycle and every bench record),
``programme`` (donors, batches, trainees, cohorts, stock, allocations, maintenance
tickets, roles, PDFs), ``reports`` and ``api`` (``/api/v1/``, OpenAPI at
``/api/v1/openapi.json``).

Running it::

    weee manage adduser alice --role admin            # prints a generated password
    weee manage addbench --name atelier-1 --public-key-file bench.pub   # {"bench_id", "token"}
    weee serve --bind 0.0.0.0:8000                   # migrations, then gunicorn

SQLite under ``WEEE_DATA_DIR`` by default; ``WEEE_DATABASE_URL=postgres://...`` for
PostgreSQL (see settings.py for the other variables). Coordinators and technicians work
in ``/admin/`` (English or French); donors log in at ``/accounts/login/`` and get their
batches' erasure certificates at ``/donor/``; a certificate's QR code opens
``/verify/<record_id>``.
"""
