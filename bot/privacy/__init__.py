"""Data rights (UU PDP 27/2022): DATA, UBAH and HAPUS as work with a due time, legal holds,
retention that acts, and a record of who looked at a case.

A family's DATA/UBAH/HAPUS becomes a privacy request in the same transaction as the bot's
answer (`intake.requested`, the `privacy_request` effect), due 3x24 hours later; supervisors
hear at once, before the due time and after it (`deadlines`). Staff close a request by doing
it (`erase`, `export`, `correct`) or refuse it with a reason the family is told (`requests`).
Retention rules (flows/retention.yaml) run daily (`retention`). Every view of a case writes an
access record (`access`). The command line is `bot.privacy.cli`.
"""
