"""Exit 0 when the PostgreSQL and Redis servers given as arguments answer, 1 otherwise."""

import sys

import psycopg
import redis


def main(pg_url: str, redis_url: str) -> int:
    try:
        url = pg_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=3):
            pass
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError) as error:
        print(f"not reachable: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
