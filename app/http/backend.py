"""The API process's Redis: its connections, the job queue, the key names and the live workers.

Opened once by the application's lifespan; every feature's store is built on it.
"""

from functools import cached_property

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq import Queue, Worker, worker_registration
from rq.serializers import JSONSerializer

from certify_jobs.contract import ServiceKeys
from certify_jobs.uploads import upload_store
from certify_settings import Settings
from certify_store.database import create_engine
from certify_store.keys import KeyRing
from certify_store.locations import StoreLocations
from certify_store.records import RecordStore

# Short timeouts: a request should fail fast with 503 while Redis is away;
# the pool reconnects on its own when Redis comes back.
REDIS_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 5.0,
                 "health_check_interval": 10, "retry_on_timeout": False}


def text(value: object) -> str:
    """A Redis answer (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Backend:
    """Redis (sync, and async for the hot read paths), the queue and the key names."""

    def __init__(self, redis: Redis, settings: Settings, async_redis: AsyncRedis | None = None) -> None:
        self.redis = redis
        # Used only by the API's hot read paths; others never connect it (connections are lazy).
        self.async_redis = async_redis or AsyncRedis.from_url(settings.redis_url_or_default)
        self.settings = settings
        self.keys = ServiceKeys()
        self.queue = Queue(settings.queue_name, connection=redis, serializer=JSONSerializer)
        self.blobs = upload_store(settings)  # uploads, on the folder the workers share

    @classmethod
    def connect(cls, settings: Settings) -> "Backend":
        url = settings.redis_url_or_default
        return cls(Redis.from_url(url, **REDIS_OPTIONS), settings,
                   AsyncRedis.from_url(url, **REDIS_OPTIONS))  # type: ignore[arg-type]

    @cached_property
    def locations(self) -> StoreLocations:
        settings = self.settings
        return StoreLocations(settings.data_dir_or_default, settings.database_url,
                              settings.signing_keys_dir)

    @cached_property
    def records(self) -> RecordStore:
        """The record database (connects on first use; the lifespan migrates it)."""
        return RecordStore(create_engine(self.locations.url))

    @cached_property
    def keyring(self) -> KeyRing:
        return KeyRing(self.locations.signing_keys_dir)

    async def close(self) -> None:
        if "records" in self.__dict__:
            self.records.engine.dispose()
        self.redis.close()
        await self.async_redis.aclose()

    def ping(self) -> None:
        self.redis.ping()

    def live_workers(self) -> int:
        """Workers registered on this queue whose presence key (TTL ~10 s) is still renewed.

        rq's own worker key outlives a killed worker by up to a minute; the presence key
        (worker/presence.py) expires within `CERTIFY_WORKER_PRESENCE_TTL_S`.
        """
        names = [text(key).removeprefix(Worker.redis_worker_namespace_prefix)
                 for key in worker_registration.get_keys(queue=self.queue)]
        # No MULTI: a full Redis refuses MULTI, and readiness must not depend on free memory.
        with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self.keys.worker_models(name))
            return sum(1 for alive in pipe.execute() if alive)
