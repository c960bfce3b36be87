"""Money: QBO's reports mirrored, and the local ledger tied out to them to the cent.

``fetch`` asks the Reports API (ranges split, 504s bisected), ``flatten`` turns a report
into rows, ``snapshots`` stores and schedules them, ``postings`` holds the double-entry
rules per transaction type, ``ledger`` derives balances from local rows, and ``tieout``
compares the two and stores the verdict.
"""
