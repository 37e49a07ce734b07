"""Sleep records in Redis, laid out so that a Redis Cluster could hold them too.

Every key starts with the configured prefix ``P``. An owner's name is
percent-encoded (``quote(owner, safe="")``, written ``O`` below), so braces,
colons and wildcards in it cannot change the shape of a key. One owner's keys
share the hash tag ``{o:O}`` and with it one cluster slot, which lets a Lua
script change them together; the keys that span owners share ``{all}``.

=====================  ======  ==============================================
Key                    Type    Contents
=====================  ======  ==============================================
``P:{o:O}:data``       hash    id -> the record as ``SleepRecord.to_json()``
``P:{o:O}:spans``      hash    ``"<start_us>:<end_us>"`` -> id; the
                               idempotency key (UTC epoch microseconds)
``P:{o:O}:timeline``   zset    ``"<start_us:017d>:<id:012d>"``, all scores 0
``P:{all}:timeline``   zset    ``"<start_us:017d>:<id:012d>:O"``, all scores 0
``P:{all}:owners``     hash    id -> ``O``, to find a record by its id
``P:{all}:next_id``    string  the last id handed out (``INCRBY``)
``P:{all}:health``     string  written by :meth:`RedisRecordStore.check`
=====================  ======  ==============================================

Timelines are read in lexicographic order with ``ZRANGEBYLEX``: the fixed
widths make that order (start, id), the store order. Nothing here runs
``KEYS`` or ``SCAN`` or builds a pattern from input. The store talks to one
server through ``redis.Redis``; the layout is what a cluster client would
need, but no cluster client is wired in.

A save runs in steps that are each idempotent: the spans already stored are
looked up (one script call per owner and batch), an id is taken for each
new one and entered in ``owners``; one script call per owner, on the
owner's slot, stores each span, its data and the owner's timeline entry, or
returns the record that already holds the span; the global timeline entries
of the new records follow in the same round trip, and those of records found
already stored are added again. Saving the same span again re-adds
the global entries, which heals a crash between the steps. Until then,
``count()`` and ``page()`` without an owner miss that record.
"""

import functools
import json
import logging
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sleeplog.errors import (
    NotFoundError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from sleeplog.models import SleepRecord
from sleeplog.storage.base import RecordStore, earliest_start
from sleeplog.timestamps import format_timestamp

log = logging.getLogger(__name__)

#: Saves are sent in batches of at most this many records.
BATCH_SIZE = 1000

_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
#: Timeline members give a start 17 digits and an id 12.
_START_LIMIT = 10**17
_ID_LIMIT = 10**12

#: Errors after which retrying later may work; the rest become StorageError.
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,  # with BusyLoadingError, MaxConnectionsError
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.OutOfMemoryError,
)

# KEYS: next_id, owners. ARGV: one encoded owner per record.
# Returns the last of #ARGV new ids, each already entered in owners.
_ALLOCATE = """
local last = redis.call('INCRBY', KEYS[1], #ARGV)
for i, owner in ipairs(ARGV) do
  redis.call('HSET', KEYS[2], last - #ARGV + i, owner)
end
return last
"""

# KEYS: spans, data. ARGV: spans of one owner's records. Returns one reply per
# span: the record holding it, or 0.
_LOOKUP = """
local replies = {}
for i, span in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], span)
  replies[i] = id and redis.call('HGET', KEYS[2], id) or 0
end
return replies
"""

# KEYS: spans, data, timeline. ARGV: span, id, record, timeline member, for
# each of one owner's records in turn. Returns one reply per record: 0 when
# it stored the record, else the record that already holds the span.
_INSERT = """
local replies = {}
for i = 1, #ARGV, 4 do
  local winner = redis.call('HGET', KEYS[1], ARGV[i])
  local stored = winner and redis.call('HGET', KEYS[2], winner)
  if stored then
    replies[#replies + 1] = stored
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    redis.call('ZADD', KEYS[3], 0, ARGV[i + 3])
    replies[#replies + 1] = 0
  end
end
return replies
"""

# KEYS: spans, data, timeline. ARGV: id, span, timeline member.
# Returns 1 when this call removed the record, else 0.
_REMOVE = """
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then
  return 0
end
if redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[1], ARGV[2])
end
redis.call('ZREM', KEYS[3], ARGV[3])
return 1
"""

#: A record about to be saved, with what its keys and members are made of.
# json.dumps builds an encoder on each call when given options; one will do.
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_Pending = namedtuple("_Pending", "record tag span start_us")


def translate_errors(method):
    """Turn redis-py's exceptions raised by ``method`` into sleeplog's.

    The one mapping for Redis: ``method`` belongs to a :class:`RedisClient`.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except _UNAVAILABLE as exc:
            message = f"Redis is unavailable: {self._describe(exc)}"
            log.warning("%s", message)
            raise StorageUnavailableError(message) from exc
        except redis.exceptions.RedisError as exc:
            message = f"Redis refused a request: {self._describe(exc)}"
            raise StorageError(message) from exc

    return wrapper


class RedisClient:
    """Holds one redis-py client for ``settings.redis``, shared by threads.

    Timeouts come from the settings and nothing is retried behind the
    caller's back. Methods wrapped in :func:`translate_errors` raise only
    sleeplog's errors, with any secret from the URL blanked out.
    """

    def __init__(self, settings):
        config = settings.redis
        self._secrets = _url_secrets(config.url)
        try:
            self._client = redis.Redis.from_url(
                config.url,
                socket_connect_timeout=config.connect_timeout,
                socket_timeout=config.timeout,
                # Writes may not be repeated behind our back: no retries at all.
                retry_on_timeout=False,
                retry=Retry(NoBackoff(), 0),
                protocol=2,
                decode_responses=True,
                health_check_interval=30,
            )
        except ValueError as exc:
            message = f"The Redis URL cannot be used: {self._describe(exc)}"
            raise StorageError(message) from exc

    def _describe(self, exc):
        """The text of ``exc`` with any secret from the URL blanked out."""
        text = str(exc) or type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


class RedisRecordStore(RedisClient, RecordStore):
    """Keeps records in Redis under ``[redis] key_prefix``; see the module doc."""

    def __init__(self, settings):
        super().__init__(settings)
        self._keys = _Keys(settings.redis.key_prefix)
        self._allocate = self._client.register_script(_ALLOCATE)
        self._lookup = self._client.register_script(_LOOKUP)
        self._insert = self._client.register_script(_INSERT)
        self._remove = self._client.register_script(_REMOVE)

    @translate_errors
    def save(self, record):
        """Store ``record`` unless its span key is stored; return ``(stored, created)``.

        Safe to call from many threads or processes at once: one of the
        calls with the same span key creates the record, the rest return it.
        """
        return self._save_batch([record])[0]

    @translate_errors
    def save_many(self, records):
        """Store many records, ``BATCH_SIZE`` at a time; return how many were new.

        Each record behaves as with :meth:`save`.
        """
        records = list(records)
        created = 0
        for first in range(0, len(records), BATCH_SIZE):
            batch = self._save_batch(records[first : first + BATCH_SIZE])
            created += sum(1 for _, new in batch if new)
        return created

    @translate_errors
    def get(self, record_id):
        """Return the record with ``record_id``; raise ``NotFoundError`` if none."""
        text = None
        tag = self._owner_of(record_id)
        if tag is not None:
            text = self._client.hget(self._keys.data(tag), record_id)

        if text is None:
            raise NotFoundError(f"There is no record {record_id}.")
        return _parse(text)

    @translate_errors
    def delete(self, record_id):
        """Remove the record with ``record_id`` and every index entry of it.

        Returns whether it existed; of two concurrent calls only one sees it.
        """
        tag = self._owner_of(record_id)
        if tag is None:
            return False

        text = self._client.hget(self._keys.data(tag), record_id)
        if text is None:
            return False

        pending = _pending(_parse(text))
        removed = self._remove(
            keys=self._keys.of_owner(tag),
            args=[record_id, pending.span, _member(pending.start_us, record_id)],
        )

        pipe = self._client.pipeline(transaction=False)
        pipe.zrem(self._keys.timeline, _member(pending.start_us, record_id, tag))
        pipe.hdel(self._keys.owners, record_id)
        pipe.execute()
        return bool(removed)

    @translate_errors
    def page(
        self, *, owner=None, start_from=None, start_to=None, after=None, limit=500
    ):
        """Return a list of at most ``limit`` records in store order.

        The arguments are those of :meth:`RecordStore.page`.

        Records that start in the day before ``start_from`` are read and
        dropped when they end too early, so a page may take several reads.
        """
        bounds = _lex_bounds(start_from, start_to, after)
        if bounds is None or limit <= 0:
            return []

        lowest, highest = bounds
        tag = None if owner is None else _encode_owner(owner)
        key = self._keys.timeline if tag is None else self._keys.of_owner(tag)[2]
        result = []
        while len(result) < limit:
            wanted = min(limit - len(result), BATCH_SIZE)
            members = self._client.zrangebylex(key, lowest, highest, 0, wanted)
            if tag is None:
                records = self._load_everyones(members)
            else:
                records = self._load_owners(tag, members)
            result.extend(
                record
                for record in records
                if start_from is None or record.end > start_from
            )

            if len(members) < wanted:
                break
            lowest = "(" + members[-1]
        return result

    @translate_errors
    def count(self, owner=None):
        """How many records there are, of everybody or of ``owner``."""
        if owner is None:
            return self._client.zcard(self._keys.timeline)
        return self._client.zcard(self._keys.of_owner(_encode_owner(owner))[2])

    @translate_errors
    def check(self):
        """Write a short-lived key; raise ``StorageUnavailableError`` if that fails."""
        self._client.set(self._keys.health, "1", ex=10)

    @translate_errors
    def close(self):
        """Disconnect every pooled connection."""
        self._client.close()

    def _save_batch(self, records):
        pending = [_pending(record) for record in records]
        unique = {}
        for item in pending:
            unique.setdefault((item.tag, item.span), item)
        candidates = list(unique.values())
        found = self._find_stored(candidates)

        outcome = {}
        for item, text in zip(candidates, found):
            if text is not None:
                outcome[item.tag, item.span] = (_parse(text), False)
        missing = [item for item, text in zip(candidates, found) if text is None]
        wasted = self._insert_missing(missing, outcome) if missing else []
        self._index(candidates, outcome, wasted)

        results = []
        for item in pending:
            stored, created = outcome[item.tag, item.span]
            results.append((stored, created))
            # A span repeated within the batch is new only the first time.
            outcome[item.tag, item.span] = (stored, False)
        return results

    def _find_stored(self, candidates):
        """The stored text holding each candidate's span, or ``None``, in order.

        One round trip, whatever the batch size: a script call per owner.
        """
        by_owner = {}
        for index, item in enumerate(candidates):
            by_owner.setdefault(item.tag, []).append(index)

        pipe = self._client.pipeline(transaction=False)
        for tag, indexes in by_owner.items():
            spans = [candidates[i].span for i in indexes]
            self._lookup(keys=self._keys.of_owner(tag)[:2], args=spans, client=pipe)

        found = [None] * len(candidates)
        for indexes, texts in zip(by_owner.values(), pipe.execute()):
            for index, text in zip(indexes, texts):
                found[index] = text or None
        return found

    def _insert_missing(self, missing, outcome):
        """Store records whose spans were free; return ids that lost a race.

        One script call per owner stores all of that owner's records.
        """
        last = int(
            self._allocate(
                keys=[self._keys.next_id, self._keys.owners],
                args=[item.tag for item in missing],
            )
        )
        first = last - len(missing) + 1
        now = datetime.now(timezone.utc)
        created_at = format_timestamp(now)

        by_owner = {}
        for record_id, item in enumerate(missing, start=first):
            stored = item.record.replace(id=record_id, created_at=now)
            member = _member(item.start_us, record_id)
            args, entries = by_owner.setdefault(item.tag, ([], []))
            args += (item.span, record_id, _dump(stored, created_at), member)
            entries.append((item, stored))

        pipe = self._client.pipeline(transaction=False)
        for tag, (args, _) in by_owner.items():
            self._insert(keys=self._keys.of_owner(tag), args=args, client=pipe)
        # Sent after the records, so no entry ever points at a record not yet
        # written; one whose record lost a race is taken back by _index.
        members = {
            _member(item.start_us, stored.id, item.tag): 0
            for _, entries in by_owner.values()
            for item, stored in entries
        }
        pipe.zadd(self._keys.timeline, members)
        replies = pipe.execute()

        wasted = []
        for (_, entries), winners in zip(by_owner.values(), replies):
            for (item, stored), winner in zip(entries, winners):
                if winner == 0:
                    outcome[item.tag, item.span] = (stored, True)
                else:
                    outcome[item.tag, item.span] = (_parse(winner), False)
                    wasted.append(
                        (stored.id, _member(item.start_us, stored.id, item.tag))
                    )
        return wasted

    def _index(self, candidates, outcome, wasted):
        """Re-add the global entries of records found stored; drop ``wasted``.

        New records got theirs with the record (see :meth:`_insert_missing`);
        ``wasted`` are the ``(id, member)`` of records that lost a race.
        """
        members = {}
        owners = {}
        for item in candidates:
            stored, new = outcome[item.tag, item.span]
            if not new:
                members[_member(item.start_us, stored.id, item.tag)] = 0
                owners[stored.id] = item.tag
        if not members and not wasted:
            return

        pipe = self._client.pipeline(transaction=False)
        if members:
            pipe.zadd(self._keys.timeline, members)
            pipe.hset(self._keys.owners, mapping=owners)
        if wasted:
            pipe.zrem(self._keys.timeline, *(member for _, member in wasted))
            pipe.hdel(self._keys.owners, *(record_id for record_id, _ in wasted))
        added = pipe.execute()[0] if members else 0

        if added:
            log.warning("Re-added %d missing global index entries in Redis", added)

    def _owner_of(self, record_id):
        if isinstance(record_id, bool) or not isinstance(record_id, int):
            return None
        if record_id <= 0:
            return None
        return self._client.hget(self._keys.owners, record_id)

    def _load_owners(self, tag, members):
        if not members:
            return []

        ids = [_split(member)[1] for member in members]
        texts = self._client.hmget(self._keys.data(tag), ids)
        return [_parse(text) for text in texts if text is not None]

    def _load_everyones(self, members):
        wanted = {}
        for member in members:
            _, record_id, tag = _split(member)
            wanted.setdefault(tag, []).append(record_id)

        pipe = self._client.pipeline(transaction=False)
        for tag, ids in wanted.items():
            pipe.hmget(self._keys.data(tag), ids)
        texts = {}
        for (tag, ids), replies in zip(wanted.items(), pipe.execute()):
            texts.update(zip(((tag, record_id) for record_id in ids), replies))

        records = []
        stale = []
        for member in members:
            _, record_id, tag = _split(member)
            text = texts[tag, record_id]
            if text is None:
                stale.append(member)
            else:
                records.append(_parse(text))
        if stale:
            self._forget(stale)
        return records

    def _forget(self, members):
        """Drop global entries whose record is gone: a delete stopped half-way.

        A record's data is written before its global entries and removed
        before them, and ids are never reused, so such entries stay stale.
        """
        log.warning("Removing %d stale global index entries in Redis", len(members))
        pipe = self._client.pipeline(transaction=False)
        pipe.zrem(self._keys.timeline, *members)
        pipe.hdel(self._keys.owners, *(_split(member)[1] for member in members))
        pipe.execute()


class _Keys:
    """The name of every key, for one prefix."""

    def __init__(self, prefix):
        self._prefix = prefix
        self.timeline = f"{prefix}:{{all}}:timeline"
        self.owners = f"{prefix}:{{all}}:owners"
        self.next_id = f"{prefix}:{{all}}:next_id"
        self.health = f"{prefix}:{{all}}:health"

    def of_owner(self, tag):
        """The owner's keys in the order the scripts take: spans, data, timeline."""
        base = f"{self._prefix}:{{o:{tag}}}"
        return [f"{base}:spans", f"{base}:data", f"{base}:timeline"]

    def data(self, tag):
        return self.of_owner(tag)[1]


def _pending(record):
    start_us = _micros(record.start)
    if not 0 <= start_us < _START_LIMIT:
        raise ValidationError(
            "A sleep record must start between 1970 and 5000.",
            [{"field": "start", "message": "is out of the range a store keeps"}],
        )

    _check_text(record)  # refuses text Redis cannot keep before any id is taken
    span = f"{start_us}:{_micros(record.end)}"
    return _Pending(record, _encode_owner(record.owner), span, start_us)


@functools.lru_cache(maxsize=1024)
def _encode_owner(owner):
    return quote(owner, safe="", errors="surrogatepass")


def _micros(moment):
    """Microseconds since 1970 of a naive UTC or an aware ``datetime``, exactly."""
    if moment.tzinfo is not None:
        return (moment - _EPOCH_UTC) // _MICROSECOND
    return (moment - _EPOCH) // _MICROSECOND


def _member(start_us, record_id, tag=None):
    member = f"{start_us:017d}:{record_id:012d}"
    return member if tag is None else f"{member}:{tag}"


def _split(member):
    """``(start_us, id, tag)`` of a timeline member; ``tag`` is None for an owner's."""
    parts = member.split(":")
    return int(parts[0]), int(parts[1]), parts[2] if len(parts) > 2 else None


def _lex_bounds(start_from, start_to, after):
    """The ``ZRANGEBYLEX`` min and max of a page, or ``None`` if nothing matches.

    Every bound is a string no member equals, so ``(`` and ``[`` mean the
    same here. A 17-digit start sorts before every member with that start.
    ``;`` sorts right after ``:``, so ``start:id;`` sorts after every member
    with that start and id, with or without an owner after it.
    """
    floors = []
    if start_from is not None:
        floor = _micros(earliest_start(start_from))
        if floor >= _START_LIMIT:
            return None
        if floor > 0:
            floors.append(f"{floor:017d}")

    if after is not None:
        start_us, record_id = _micros(after[0]), after[1]
        if start_us >= _START_LIMIT:
            return None
        if start_us >= 0:
            record_id = min(max(record_id, -1), _ID_LIMIT - 1)
            floors.append(f"{start_us:017d}:{record_id:012d};")

    highest = "+"
    if start_to is not None:
        ceiling = _micros(start_to)
        if ceiling <= 0:
            return None
        if ceiling < _START_LIMIT:
            highest = f"({ceiling:017d}"

    lowest = "(" + max(floors) if floors else "-"
    return lowest, highest


def _dump(record, created_at=None):
    """The record as JSON text; ``created_at``, if given, is its formatted form."""
    data = record.to_json()
    if created_at is not None:
        data["created_at"] = created_at  # formatted once for a whole batch
    text = _ENCODE_JSON(data)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_unicode() from None
    return text


def _check_text(record):
    """Refuse a record whose text :func:`_dump` could not encode, cheaply."""
    fields = (record.owner, record.timezone, record.source, record.note, record.client)
    try:
        for text in fields:
            if text is not None:
                text.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_unicode() from None


def _not_unicode():
    return ValidationError(
        "The sleep record is not valid: it holds text that is not valid Unicode.",
        [{"field": None, "message": "is not valid Unicode text"}],
    )


def _parse(text):
    try:
        return SleepRecord.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError("Redis holds a sleep record that cannot be read.") from exc


def _url_secrets(url):
    password = urlsplit(url).password
    if not password:
        return ()
    return tuple({password, unquote(password)})
