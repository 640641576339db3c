"""moto's server, one request at a time.

moto checks a DynamoDB condition and then writes, without a lock, while its server answers
requests on many threads: two conditional PutItems racing can both succeed, which real
DynamoDB never allows (each write to an item is atomic). The ledger tests race containers
on purpose, so they need DynamoDB's atomicity: this runs moto's WSGI app behind one lock.

    python tests/moto_serial.py -H 127.0.0.1 -p PORT
"""

import argparse
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # The whole answer is made under the lock.
            return list(app(environ, start_response))

    run_simple(
        args.host,
        args.port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
