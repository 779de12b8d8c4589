#!/usr/bin/python3
"""paceline lab: one AMQP 0-9-1 client action (Debian's python3-pika).

publish HOST PORT SEQ   declares the quorum queue "acked" and publishes SEQ
                        as a persistent message with publisher confirms;
                        exits 0 once the broker confirmed it.
read HOST PORT          prints the body of every message in "acked", one a
                        line, without taking them: none is acknowledged, so
                        they go back to the queue when the connection closes.
Any failure exits non-zero.
"""
import sys

import pika

QUEUE = "acked"
ARGUMENTS = {"x-queue-type": "quorum"}


def channel(host, port):
    params = pika.ConnectionParameters(
        host=host,
        port=int(port),
        credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1,
        socket_timeout=2,
        stack_timeout=3,
        blocked_connection_timeout=3,
    )
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare(QUEUE, durable=True, arguments=ARGUMENTS)
    return conn, ch


def publish(host, port, seq):
    conn, ch = channel(host, port)
    ch.confirm_delivery()
    # With confirms on, a nack or an unroutable message raises.
    ch.basic_publish(
        "",
        QUEUE,
        seq.encode(),
        pika.BasicProperties(delivery_mode=2),
        mandatory=True,
    )
    conn.close()


def read(host, port):
    conn, ch = channel(host, port)
    bodies = []
    while True:
        method, _, body = ch.basic_get(QUEUE, auto_ack=False)
        if method is None:
            break
        bodies.append(body.decode())
    print("\n".join(bodies))
    conn.close()


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "publish":
        publish(*args[1:])
    elif len(args) == 3 and args[0] == "read":
        read(*args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
