"""Astro: Steam bot item pools for external systems.

`astro.core` is the base every app may use, `astro.steam` the only door to Steam,
`astro.integrations` the external systems and their keys, `astro.console` the
operator console. The domain apps (`items`, `assignments`, `sync`, `audit`) sit at
the top level beside `config` (wiring) and `steam_sandbox` (the emulator).
"""
