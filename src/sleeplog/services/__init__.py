"""Sleep logic in pure Python: no bottle, no drivers, no clock of its own.

Functions here take their stores, records and the current time as arguments,
so anyone can import and call them on records from anywhere.
"""
