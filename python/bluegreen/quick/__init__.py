"""The rollback's quick path: the second entrance, taken before click and the engine are imported.

`bluegreen rollback SERVICE` moves traffic here first (rollback.attempt, called by cli/entry.py: a request on the
admin socket, or a rendered file and a SIGHUP to nginx's master seen through /proc), holding the service's lock;
then the CLI runs the Rollback operation as always, which confirms the move or puts it back (rollback.QuickSwitch,
the one typed interface between the two). What the quick path reads is what the last switch recorded for it
(parts/quick_ticket.py); the parts it shares with the full path stay in parts/ (admin_socket.py, host_nginx.py,
engine_address.py, dict_file.py). This package's own import is empty on purpose.
"""
