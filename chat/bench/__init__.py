"""`chat bench`: drive a running chat like many browsers do and report what it sustains.

Needs the `bench` extra (`pip install 'chat[bench]'`): picows for thousands of cheap client
sockets (the load tool must not be the bottleneck it measures), psutil, and rich.
"""
