/* Optional C speedups for the hottest loops of aeroops.formats: WAL framing and document
 * payload decoding. Each function does exactly what its pure-Python twin in wal.py does (the
 * tests run both on the same inputs); when this module is not built, the Python code runs.
 *
 * wal_batch(buf, pos, base, expected, max_length, record_cls, types, max_records)
 *     -> (records, pos, status, sequence)
 *   Frames every whole record of buf from pos on, checks length, CRC-32 (ISA-L's
 *   crc32_gzip_refl, zlib's CRC folded with carry-less multiplication; zlib's own where ISA-L's
 *   headers were missing at build time), type and (when
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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#ifdef AEROOPS_ISAL
#include <isa-l/crc.h>
#define record_crc32(buf, len) crc32_gzip_refl(0, (buf), (len))
#else /* no ISA-L headers at build time: zlib's CRC, slower */
#include <zlib.h>
#define record_crc32(buf, len) ((uint32_t)crc32_z(0, (buf), (len)))
#endif

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
        uint32_t length = rd32(buf + pos);
        if (length < WAL_MIN_LENGTH || (Py_ssize_t)length > max_length) {
            status = BATCH_BAD_LENGTH;
            break;
        }
        if ((Py_ssize_t)length > size - pos) break; /* incomplete: read more */
        const unsigned char *rec = buf + pos;
        if (record_crc32(rec, length - 4) != rd32(rec + length - 4)) {
            status = BATCH_BAD_CHECKSUM;
            break;
        }
        unsigned kind = rec[4];
        sequence = rd64(rec + 5);
        if (kind > 5) {
            status = BATCH_BAD_TYPE;
            break;
        }
        if (expected) {
            if (sequence != expected) {
                status = BATCH_SEQUENCE_GAP;
                break;
            }
            expected++;
        }
        PyObject *record = make_record((PyTypeObject *)cls, PyTuple_GET_ITEM(types, kind), base + pos, length,
                                       sequence, rec + 13, (Py_ssize_t)length - WAL_MIN_LENGTH);
        if (record == NULL) goto fail;
        int appended = PyList_Append(records, record);
        Py_DECREF(record);
        if (appended < 0) goto fail;
        pos += length;
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

static PyMethodDef methods[] = {
    {"wal_batch", wal_batch, METH_VARARGS, "Frame and check WAL records in a buffer."},
    {"decode_document", (PyCFunction)(void (*)(void))decode_document, METH_FASTCALL,
     "Decode an insert/update/delete payload."},
    {"decode_payload", (PyCFunction)(void (*)(void))decode_payload, METH_FASTCALL | METH_KEYWORDS,
     "decode_payload(record, *, path=None): wal.decode_payload, with clean documents decoded in C."},
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL, "Set the document class and the Python decoder."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "aeroops.formats._speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    return PyModule_Create(&module);
}
