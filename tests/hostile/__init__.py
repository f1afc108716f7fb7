"""The hostile battery: the real `customer-session-mock serve` attacked over HTTP and sockets.

These tests know the mock only through its command line, HTTP, sockets, files and the admin
API, so they survive any reshuffle of `mock_server/`'s modules.
"""
