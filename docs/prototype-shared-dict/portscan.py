"""TCP connect scan of one address, run inside an app container's network namespace
(`nsenter --net=/proc/<pid>/ns/net python3 portscan.py <ip> [first] [last]`).
Prints the open ports as JSON. Only ever pointed at the prototype's own nginx container."""
import errno
import json
import selectors
import socket
import sys

ip = sys.argv[1]
first, last = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (1, 65535)
open_ports, closed, other = [], 0, {}
ports = iter(range(first, last + 1))
sel = selectors.DefaultSelector()
BATCH = 256

def start(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex((ip, port))
    if rc not in (0, errno.EINPROGRESS):
        s.close()
        return False
    sel.register(s, selectors.EVENT_WRITE, port)
    return True

pending = 0
for port in ports:
    pending += start(port)
    if pending >= BATCH:
        break
while pending:
    events = sel.select(timeout=2)
    if not events:  # nothing answered within 2 s: the rest is filtered
        for key in list(sel.get_map().values()):
            other["no_answer"] = other.get("no_answer", 0) + 1
            sel.unregister(key.fileobj)
            key.fileobj.close()
        break
    for key, _ in events:
        s, port = key.fileobj, key.data
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err == 0:
            open_ports.append(port)
        elif err == errno.ECONNREFUSED:
            closed += 1
        else:
            name = errno.errorcode.get(err, str(err))
            other[name] = other.get(name, 0) + 1
        sel.unregister(s)
        s.close()
        pending -= 1
        nxt = next(ports, None)
        if nxt is not None:
            pending += start(nxt)
print(json.dumps({"ip": ip, "scanned": last - first + 1, "open": sorted(open_ports),
                  "refused": closed, "other": other}))
