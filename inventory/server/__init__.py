"""The programme database: a Django project (settings ``inventory.server.settings``).

Apps by domain: ``benches`` (benches, keys, API tokens), ``devices`` (laptops, their
lifecycle and every bench record), ``programme`` (donors, batches, trainees, cohorts,
stock, allocations, maintenance tickets), ``reports`` and ``api``.
"""
