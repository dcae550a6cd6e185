/* Optional C speedups for the hottest loops of aeroops.formats: WAL framing and document
 * payload decoding. Each function does exactly what its pure-Python twin in wal.py does (the
 * tests run both on the same inputs); when this module is not built, the Python code runs.
 *
 * wal_batch(buf, pos, base, expected, max_length, record_cls, types, max_records)
 *     -> (records, pos, status, sequence)
 *   Frames every whole record of buf from pos on, checks length, CRC-32 (ISA-L's
 *   crc32_gzip_refl from the isal package's library, else a table: `crc_path`), type and (when
 *   expected != 0) sequence continuity, and builds a record_cls tuple per record:
 *   (offset = base + start, length, types[type], sequence, payload bytes).
 *   status (enum batch_status; wal.py's BatchStatus names the same values):
 *   BATCH_MORE: stopped at the end of buf or an incomplete record (the caller reads more);
 *   BATCH_BAD_LENGTH: impossible length at pos; BATCH_BAD_CHECKSUM: checksum mismatch at pos;
 *   BATCH_BAD_TYPE: unknown type at pos; BATCH_SEQUENCE_GAP: sequence at pos is `sequence`,
 *   not the expected one; BATCH_FULL: max_records built, call again (a cap on the batch keeps
 *   memory small whatever the records' size).
 *
 * CRC-32 of whole buffers is not here: Python callers use the isal package's crc32
 * (aeroops.formats.checksum), which measured faster than the PCLMULQDQ kernel this module
 * had (scripts/bench_crc32.py).
 *
 * decode_document(payload, cls) -> cls(collection, document_id, schema_id, schema_version, body)
 *   Raises ValueError when the five length-prefixed fields do not fill the payload exactly,
 *   UnicodeDecodeError when a text field is not UTF-8.
 *
 * decode_payload(record, *, path=None)
 *   wal.decode_payload: clean document payloads are decoded here, every other record is handed
 *   to the Python decoder given to bind(document_cls, python_decoder).
 *
 * wal_tally(buf, pos, expected, max_length, refs, until) -> (count, first, last, pos, status, sequence)
 *   wal_batch's walk and checks without building a record: how many whole, checked records
 *   from pos on, the first and last one's sequence, where the walk stopped and why (the same
 *   statuses; never BATCH_FULL but after the record of sequence 2**64 - 1, which nothing may
 *   follow: the caller takes over there, or after the record of sequence `until` when until
 *   != 0: pos is then where it ends). When refs is a set, the schemas of insert and update
 *   records are added to it, as wal_schema_refs does. For callers that only count and check
 *   (verify without a record sink, archive-wal): a Python object per record cost more than
 *   the walk.
 *
 * wal_schema_refs(records, refs)
 *   Adds (schema_id, schema_version) of every insert and update record of the list to the set
 *   refs; a payload that does not decode is skipped (readers that decode report it).
 *
 * storage_schema_refs(buf, pos, refs) -> pos
 *   Walks the storage records of buf from pos, adding (schema_id, schema_version) of every
 *   live (not tombstone) record to refs; returns where the first incomplete record starts, or
 *   -1 at an impossible length (checksums are not checked: the caller checks the file's).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <dlfcn.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The records' CRC-32: ISA-L's crc32_gzip_refl (zlib's CRC, folded with carry-less
 * multiplication) taken from the isal package's own extension, which exports it: a plain
 * `pip install` brings it, no system headers needed. Where it cannot be found (or disagrees
 * with the table below on a test vector), that table. `crc_path` says which one runs. */
typedef uint32_t (*crc_fn)(uint32_t, const unsigned char *, uint64_t);

/* The fallback: the reflected CRC-32 (zlib's, polynomial 0xEDB88320), a byte at a time from a
 * table made at import: no header or library beyond the C compiler's. */
static uint32_t crc_table[256];

static void make_crc_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t table_crc(uint32_t init, const unsigned char *buf, uint64_t len) {
    uint32_t c = ~init;
    for (uint64_t i = 0; i < len; i++)
        c = crc_table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

static crc_fn crc_impl = table_crc;
static const char *crc_path = "table-driven C (the isal package's ISA-L was not found)";

#define record_crc32(buf, len) crc_impl(0, (buf), (uint64_t)(len))

static void find_isal_crc(void) {
    PyObject *isal = PyImport_ImportModule("isal.isal_zlib");
    if (isal == NULL) {
        PyErr_Clear();
        return;
    }
    PyObject *file = PyObject_GetAttrString(isal, "__file__");
    Py_DECREF(isal);
    const char *path = file == NULL ? NULL : PyUnicode_AsUTF8(file);
    if (path == NULL) {
        PyErr_Clear();
        Py_XDECREF(file);
        return;
    }
    /* Already loaded by the import: NOLOAD hands back the same library, never a second copy. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    Py_DECREF(file);
    if (lib == NULL)
        return;
    crc_fn found = (crc_fn)dlsym(lib, "crc32_gzip_refl");
    static const unsigned char probe[] = "123456789 aeroops checks ISA-L against zlib before trusting it";
    if (found != NULL && found(0, probe, sizeof probe - 1) == table_crc(0, probe, sizeof probe - 1) &&
        found(0x12345678u, probe, 7) == table_crc(0x12345678u, probe, 7)) {
        crc_impl = found;
        crc_path = "ISA-L crc32_gzip_refl (from the isal package)";
    }
}

#define WAL_MIN_LENGTH 17 /* length u32 + type u8 + sequence u64 + crc u32 */

static inline uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const unsigned char *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The status wal_batch returns with its records. */
enum batch_status {
    BATCH_MORE = 0,
    BATCH_BAD_LENGTH = 1,
    BATCH_BAD_CHECKSUM = 2,
    BATCH_BAD_TYPE = 3,
    BATCH_SEQUENCE_GAP = 4,
    BATCH_FULL = 5,
};

static PyObject *make_record(PyTypeObject *cls, PyObject *type, long long offset, uint32_t length,
                             uint64_t sequence, const unsigned char *payload, Py_ssize_t payload_len) {
    PyObject *record = cls->tp_alloc(cls, 5); /* a tuple subclass: as tuple.__new__ does */
    if (record == NULL) return NULL;
    PyObject *items[5] = {
        PyLong_FromLongLong(offset),
        PyLong_FromUnsignedLong(length),
        type,
        PyLong_FromUnsignedLongLong(sequence),
        PyBytes_FromStringAndSize((const char *)payload, payload_len),
    };
    Py_INCREF(type);
    for (int i = 0; i < 5; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < 5; j++) Py_XDECREF(items[j]);
            Py_DECREF(record);
            return NULL;
        }
    }
    for (int i = 0; i < 5; i++) PyTuple_SET_ITEM(record, i, items[i]);
    /* It holds only ints, bytes and an enum member: it can be in no reference cycle, so the
     * cyclic GC need not track it (as CPython does for such plain tuples). Millions are made
     * per scan; tracked, they trigger collection after collection. */
    PyObject_GC_UnTrack(record);
    return record;
}

#define RECORD_INCOMPLETE (-1)

/* The checks of the WAL record at pos, in AeroDB's order: its length, its CRC, its type, its
 * sequence (when *expected is not 0; it is advanced). Returns BATCH_MORE for a good record,
 * RECORD_INCOMPLETE when buf does not hold all of it, else the status to stop with. *sequence
 * is the record's once its CRC holds. wal_batch and wal_tally share it so that the two stop at
 * the same byte for the same reason. */
static inline int check_wal_record(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t size, Py_ssize_t max_length,
                                   unsigned long long *expected, uint32_t *length, unsigned *kind, uint64_t *sequence,
                                   int *at_last) {
    *length = rd32(buf + pos);
    if (*length < WAL_MIN_LENGTH || (Py_ssize_t)*length > max_length) return BATCH_BAD_LENGTH;
    if ((Py_ssize_t)*length > size - pos) return RECORD_INCOMPLETE;
    const unsigned char *rec = buf + pos;
    if (record_crc32(rec, *length - 4) != rd32(rec + *length - 4)) return BATCH_BAD_CHECKSUM;
    *kind = rec[4];
    *sequence = rd64(rec + 5);
    if (*kind > 5) return BATCH_BAD_TYPE;
    *at_last = 0;
    if (*expected) {
        if (*sequence != *expected) return BATCH_SEQUENCE_GAP;
        *at_last = *expected == UINT64_MAX;
        (*expected)++;
    }
    return BATCH_MORE;
}

static PyObject *wal_batch(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, max_length, max_records;
    long long base;
    unsigned long long expected;
    PyObject *cls, *types;
    if (!PyArg_ParseTuple(args, "y*nLKnO!O!n", &view, &pos, &base, &expected, &max_length, &PyType_Type, &cls,
                          &PyTuple_Type, &types, &max_records))
        return NULL;
    if (PyTuple_GET_SIZE(types) != 6 || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "record_cls must be a tuple subclass and types a 6-tuple");
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    enum batch_status status = BATCH_MORE;
    uint64_t sequence = 0;
    PyObject *records = PyList_New(0);
    if (records == NULL) goto fail;
    while (pos >= 0 && pos + 4 <= size) {
        if (PyList_GET_SIZE(records) >= max_records) {
            status = BATCH_FULL;
            break;
        }
        uint32_t length;
        unsigned kind;
        int at_last; /* the record of sequence 2**64 - 1: the caller checks what follows */
        int checked = check_wal_record(buf, pos, size, max_length, &expected, &length, &kind, &sequence, &at_last);
        if (checked == RECORD_INCOMPLETE) break; /* read more */
        if (checked != BATCH_MORE) {
            status = (enum batch_status)checked;
            break;
        }
        const unsigned char *rec = buf + pos;
        PyObject *record = make_record((PyTypeObject *)cls, PyTuple_GET_ITEM(types, kind), base + pos, length,
                                       sequence, rec + 13, (Py_ssize_t)length - WAL_MIN_LENGTH);
        if (record == NULL) goto fail;
        int appended = PyList_Append(records, record);
        Py_DECREF(record);
        if (appended < 0) goto fail;
        pos += length;
        if (at_last) {
            status = BATCH_FULL;
            break;
        }
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NniK)", records, pos, (int)status, (unsigned long long)sequence);
fail:
    Py_XDECREF(records);
    PyBuffer_Release(&view);
    return NULL;
}

/* Collection, schema id and schema version repeat from record to record: the text made for
 * the last one seen in each of those fields is handed out again when its bytes are the same
 * (str is immutable, so sharing it is invisible), saving a UTF-8 decode and an allocation. */
#define TEXT_CACHE_MAX 64
typedef struct {
    Py_ssize_t len;
    char bytes[TEXT_CACHE_MAX];
    PyObject *text;
} TextCache;
static TextCache text_cache[3];

static PyObject *decode_text(const char *data, Py_ssize_t len, TextCache *cache) {
    if (cache != NULL && cache->text != NULL && cache->len == len && memcmp(cache->bytes, data, (size_t)len) == 0)
        return Py_NewRef(cache->text);
    PyObject *text = PyUnicode_DecodeUTF8(data, len, "strict");
    if (text != NULL && cache != NULL && len <= TEXT_CACHE_MAX) {
        Py_XSETREF(cache->text, Py_NewRef(text));
        memcpy(cache->bytes, data, (size_t)len);
        cache->len = len;
    }
    return text;
}

/* cls(collection, document_id, schema_id, schema_version, body) from a document payload;
 * ValueError when the fields do not fill it exactly, UnicodeDecodeError for bad text. */
static PyObject *decode_document_impl(const unsigned char *data, Py_ssize_t size, PyTypeObject *cls) {
    Py_ssize_t pos = 0, starts[5], lens[5];
    for (int i = 0; i < 5; i++) {
        if (size - pos < 4) goto bad;
        uint32_t n = rd32(data + pos);
        pos += 4;
        if ((Py_ssize_t)n > size - pos) goto bad;
        starts[i] = pos;
        lens[i] = n;
        pos += n;
    }
    if (pos != size) goto bad;
    static const int cached[4] = {0, -1, 1, 2}; /* document ids are unique: not cached */
    PyObject *fields[5] = {NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4; i++) {
        fields[i] = decode_text((const char *)data + starts[i], lens[i], cached[i] < 0 ? NULL : &text_cache[cached[i]]);
        if (fields[i] == NULL) goto fail;
    }
    fields[4] = PyBytes_FromStringAndSize((const char *)data + starts[4], lens[4]);
    if (fields[4] == NULL) goto fail;
    PyObject *result = cls->tp_alloc(cls, 5);
    if (result == NULL) goto fail;
    for (int i = 0; i < 5; i++) PyTuple_SET_ITEM(result, i, fields[i]);
    PyObject_GC_UnTrack(result); /* str and bytes only: see make_record */
    return result;
fail:
    for (int i = 0; i < 5; i++) Py_XDECREF(fields[i]);
    return NULL;
bad:
    PyErr_SetString(PyExc_ValueError, "fields do not fill the payload");
    return NULL;
}

static PyObject *decode_document(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyType_Check(args[1]) || !PyType_IsSubtype((PyTypeObject *)args[1], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "decode_document(payload, cls): cls must be a tuple subclass");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *result = decode_document_impl(view.buf, view.len, (PyTypeObject *)args[1]);
    PyBuffer_Release(&view);
    return result;
}

/* decode_payload's C twin: a record whose payload is a clean document is decoded here; every
 * other record (MVCC types, damage, anything unexpected) goes to the Python decoder, which
 * says exactly what is wrong. bind(document_cls, python_decoder) sets both, once. */
static PyTypeObject *document_cls = NULL;
static PyObject *python_decoder = NULL;

static PyObject *bind(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type) ||
        !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "bind(document_cls, python_decoder)");
        return NULL;
    }
    Py_XSETREF(document_cls, (PyTypeObject *)Py_NewRef(args[0]));
    Py_XSETREF(python_decoder, Py_NewRef(args[1]));
    Py_RETURN_NONE;
}

static PyObject *decode_payload(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    if (python_decoder == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "decode_payload: bind() was not called");
        return NULL;
    }
    /* A record is a tuple subclass (a WalRecord); anything else is the Python decoder's to judge. */
    if (nargs == 1 && !PyTuple_CheckExact(args[0]) && PyTuple_Check(args[0]) && PyTuple_GET_SIZE(args[0]) == 5) {
        PyObject *kind = PyTuple_GET_ITEM(args[0], 2), *payload = PyTuple_GET_ITEM(args[0], 4);
        long type = PyLong_Check(kind) ? PyLong_AsLong(kind) : -1;
        if (type == -1 && PyErr_Occurred()) PyErr_Clear(); /* too large: not a document type */
        if (type >= 0 && type <= 2 && PyBytes_Check(payload)) {
            PyObject *result = decode_document_impl((const unsigned char *)PyBytes_AS_STRING(payload),
                                                    PyBytes_GET_SIZE(payload), document_cls);
            if (result != NULL || !PyErr_ExceptionMatches(PyExc_ValueError)) return result;
            PyErr_Clear(); /* damaged (UnicodeDecodeError is a ValueError): the careful path explains */
        }
    }
    return PyObject_Vectorcall(python_decoder, args, (size_t)nargs, kwnames);
}

/* --- schema references ---------------------------------------------------------------------- */

/* Reads the u32-length-prefixed field at *pos of data[0:size]: its start and length. */
static int lp_field(const unsigned char *data, Py_ssize_t size, Py_ssize_t *pos, Py_ssize_t *start,
                    Py_ssize_t *len) {
    if (size - *pos < 4) return 0;
    uint32_t n = rd32(data + *pos);
    if ((Py_ssize_t)n > size - *pos - 4) return 0;
    *start = *pos + 4;
    *len = n;
    *pos = *start + n;
    return 1;
}

/* The (id, version) pairs added last, as their bytes: records of a few collections come
 * interleaved (the demo WAL changes schema at more than half of its records), so a cache of the
 * last pair alone missed most of the time. A pair found here is in refs already (refs only grows
 * within a call), so it is skipped without a decode. One cache lives for one call. */
#define REF_SLOTS 8
#define REF_SLOT_BYTES 120
typedef struct {
    int used, next;
    Py_ssize_t len[REF_SLOTS];
    unsigned char bytes[REF_SLOTS][REF_SLOT_BYTES];
} RefCache;

/* Adds (id, version) to refs unless the cache holds their bytes. -1 on a Python error other
 * than bad UTF-8. */
static int add_ref(PyObject *refs, const unsigned char *data, Py_ssize_t id_start, Py_ssize_t id_len,
                   Py_ssize_t ver_start, Py_ssize_t ver_len, RefCache *cache) {
    Py_ssize_t span = ver_start + ver_len - (id_start - 4);
    const unsigned char *at = data + id_start - 4; /* id's length prefix through the version */
    for (int i = 0; i < cache->used; i++)
        if (cache->len[i] == span && memcmp(cache->bytes[i], at, (size_t)span) == 0) return 0;
    PyObject *id = PyUnicode_DecodeUTF8((const char *)data + id_start, id_len, "strict");
    PyObject *ver = id == NULL ? NULL : PyUnicode_DecodeUTF8((const char *)data + ver_start, ver_len, "strict");
    if (ver == NULL) {
        Py_XDECREF(id);
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return -1;
        PyErr_Clear(); /* not text: not a schema AeroDB could load; the decoding readers report it */
        return 0;
    }
    PyObject *pair = PyTuple_Pack(2, id, ver);
    Py_DECREF(id);
    Py_DECREF(ver);
    if (pair == NULL) return -1;
    int added = PySet_Add(refs, pair);
    Py_DECREF(pair);
    if (added == 0 && span <= REF_SLOT_BYTES) {
        int slot = cache->next;
        cache->next = (slot + 1) % REF_SLOTS;
        if (cache->used < REF_SLOTS) cache->used++;
        cache->len[slot] = span;
        memcpy(cache->bytes[slot], at, (size_t)span);
    }
    return added;
}

/* The schema of an insert or update payload, added to refs (a payload whose fields do not
 * decode is skipped); -1 on a Python error. */
static int add_payload_ref(PyObject *refs, const unsigned char *data, Py_ssize_t size, RefCache *cache) {
    Py_ssize_t pos = 0, starts[4], lens[4];
    for (int f = 0; f < 4; f++)
        if (!lp_field(data, size, &pos, &starts[f], &lens[f])) return 0;
    return add_ref(refs, data, starts[2], lens[2], starts[3], lens[3], cache);
}

static PyObject *wal_schema_refs(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0]) || !PySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "wal_schema_refs(records: list, refs: set)");
        return NULL;
    }
    RefCache cache = {0};
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(args[0]); i++) {
        PyObject *record = PyList_GET_ITEM(args[0], i);
        if (!PyTuple_Check(record) || PyTuple_GET_SIZE(record) != 5) continue;
        PyObject *kind = PyTuple_GET_ITEM(record, 2), *payload = PyTuple_GET_ITEM(record, 4);
        long type = PyLong_Check(kind) ? PyLong_AsLong(kind) : -1;
        if (type == -1 && PyErr_Occurred()) PyErr_Clear();
        if ((type != 0 && type != 1) || !PyBytes_Check(payload)) continue; /* deletes become tombstones */
        if (add_payload_ref(args[1], (const unsigned char *)PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload),
                            &cache) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *wal_tally(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, max_length;
    unsigned long long expected, until;
    PyObject *refs;
    if (!PyArg_ParseTuple(args, "y*nKnOK", &view, &pos, &expected, &max_length, &refs, &until)) return NULL;
    if (refs != Py_None && !PySet_Check(refs)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "wal_tally: refs must be a set or None");
        return NULL;
    }
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len, count = 0;
    enum batch_status status = BATCH_MORE;
    uint64_t sequence = 0, first = 0, last = 0;
    RefCache cache = {0};
    /* The checks are wal_batch's, in its order: the two must stop at the same byte, same reason. */
    while (pos >= 0 && pos + 4 <= size) {
        uint32_t length;
        unsigned kind;
        int at_last; /* the record of sequence 2**64 - 1: the caller checks what follows */
        int checked = check_wal_record(buf, pos, size, max_length, &expected, &length, &kind, &sequence, &at_last);
        if (checked == RECORD_INCOMPLETE) break; /* read more */
        if (checked != BATCH_MORE) {
            status = (enum batch_status)checked;
            break;
        }
        const unsigned char *rec = buf + pos;
        if (refs != Py_None && kind <= 1 &&
            add_payload_ref(refs, rec + 13, (Py_ssize_t)length - WAL_MIN_LENGTH, &cache) < 0) {
            PyBuffer_Release(&view);
            return NULL;
        }
        if (count++ == 0) first = sequence;
        last = sequence;
        pos += length;
        if (at_last || (until && sequence == until)) {
            status = BATCH_FULL;
            break;
        }
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(nKKniK)", count, (unsigned long long)first, (unsigned long long)last, pos, (int)status,
                         (unsigned long long)sequence);
}

#define STORAGE_MIN_LENGTH 25 /* length + 3 empty text fields + tombstone + empty body + crc */

static PyObject *storage_schema_refs(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos;
    PyObject *refs;
    if (!PyArg_ParseTuple(args, "y*nO!", &view, &pos, &PySet_Type, &refs)) return NULL;
    const unsigned char *buf = view.buf;
    Py_ssize_t size = view.len;
    RefCache cache = {0};
    while (pos >= 0 && size - pos >= 4) {
        uint32_t length = rd32(buf + pos);
        if (length < STORAGE_MIN_LENGTH) {
            pos = -1;
            break;
        }
        if ((Py_ssize_t)length > size - pos) break; /* incomplete: the caller brings the rest */
        const unsigned char *rec = buf + pos;
        Py_ssize_t end = (Py_ssize_t)length - 4, at = 4, starts[3], lens[3];
        int whole = 1;
        for (int f = 0; f < 3 && whole; f++) whole = lp_field(rec, end, &at, &starts[f], &lens[f]);
        if (whole && at < end && rec[at] == 0 &&
            add_ref(refs, rec, starts[1], lens[1], starts[2], lens[2], &cache) < 0) {
            PyBuffer_Release(&view);
            return NULL;
        }
        pos += length;
    }
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(pos);
}

/* crc32(data, value=0), as zlib.crc32, computed without letting go of the interpreter's lock:
 * for verify, whose digest thread takes the lock at every release and makes this one wait to
 * get it back (a megabyte costs ISA-L tens of microseconds). */
static PyObject *crc32_held(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "crc32(data, value=0)");
        return NULL;
    }
    unsigned long value = 0;
    if (nargs == 2) {
        value = PyLong_AsUnsignedLongMask(args[1]);
        if (value == (unsigned long)-1 && PyErr_Occurred())
            return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint32_t crc = crc_impl((uint32_t)value, (const unsigned char *)view.buf, (uint64_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

/* keep_freed_memory(trim, mmap): glibc's malloc keeps up to `trim` bytes of freed heap instead
 * of handing it back to the system, and serves blocks under `mmap` bytes from the heap. A
 * streaming pass allocates a megabyte per read while the last ones are still held (the digest
 * thread, a record across two reads): with glibc's defaults the heap top is trimmed and grown
 * again, and each megabyte is faulted in and zeroed anew. False where malloc is not glibc's. */
static PyObject *keep_freed_memory(PyObject *self, PyObject *args) {
    (void)self;
    int trim, mmap;
    if (!PyArg_ParseTuple(args, "ii", &trim, &mmap))
        return NULL;
#ifdef __GLIBC__
    if (mallopt(M_TRIM_THRESHOLD, trim) && mallopt(M_MMAP_THRESHOLD, mmap))
        Py_RETURN_TRUE;
#else
    (void)trim;
    (void)mmap;
#endif
    Py_RETURN_FALSE;
}

#include "_speedups_documents.h" /* issue 24: documents, a block of its own */
#include "_speedups_fields.h"    /* issue 24: their body fields as columns */

static PyMethodDef methods[] = {
    DOCUMENT_METHODS
    FIELDS_METHODS
    {"keep_freed_memory", keep_freed_memory, METH_VARARGS,
     "keep_freed_memory(trim, mmap): glibc malloc's trim and mmap thresholds, in bytes."},
    {"crc32", (PyCFunction)(void (*)(void))crc32_held, METH_FASTCALL,
     "crc32(data, value=0): zlib's CRC-32, by ISA-L where found, holding the interpreter's lock."},
    {"wal_schema_refs", (PyCFunction)(void (*)(void))wal_schema_refs, METH_FASTCALL,
     "Add the schemas insert and update records name to a set."},
    {"storage_schema_refs", storage_schema_refs, METH_VARARGS,
     "Add the schemas live storage records in a buffer name to a set; where the walk stopped."},
    {"wal_batch", wal_batch, METH_VARARGS, "Frame and check WAL records in a buffer."},
    {"wal_tally", wal_tally, METH_VARARGS, "Frame and check WAL records in a buffer, counting, building none."},
    {"decode_document", (PyCFunction)(void (*)(void))decode_document, METH_FASTCALL,
     "Decode an insert/update/delete payload."},
    {"decode_payload", (PyCFunction)(void (*)(void))decode_payload, METH_FASTCALL | METH_KEYWORDS,
     "decode_payload(record, *, path=None): wal.decode_payload, with clean documents decoded in C."},
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL, "Set the document class and the Python decoder."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "aeroops.formats._speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    if (PyType_Ready(&FBufferType) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    make_crc_table();
    find_isal_crc();
    if (PyModule_AddStringConstant(mod, "crc_path", crc_path) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
