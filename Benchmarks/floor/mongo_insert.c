// The Mongo notifier's floor: libmongoc inserting COUNT documents of the notifier's shape
// (MongoDocument: _id text, category, type, check, label, status, message, measurement {avg,
// loss, received, sent, up}, created date, elapsed, config {count, host, sleep}, host), padded
// in `message` to SIZE bytes of BSON, with `insert_many` in batches of BATCH (the notifier's
// bulk_size), unordered, write concern {w: 1, j: true, wtimeout: 10000} (the notifier's
// defaults), into a fresh collection with the two indexes the notifier creates
// ({label: 1, created: -1}, {check: 1, created: -1}). One client, one insert at a time, as the
// notifier's thread does. Prints documents per second (first insert to last acknowledgement)
// and this process's CPU per document. The database is dropped at the end.
//
// Usage: mongo_insert URI DATABASE COUNT SIZE BATCH
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "floor.h"

// One document of the notifier's shape; `padding` characters are added to `message`.
static bson_t *document(long i, int64_t created, size_t padding) {
    char id[48], label[32];
    snprintf(id, sizeof id, "019ac0e4-%04lx-7%03lx-8%03lx-%012lx", (i >> 24) & 0xffff, (i >> 12) & 0xfff, i & 0xfff, i);
    snprintf(label, sizeof label, "bench-%ld", i % 50);
    static char message[4096];
    size_t base = strlen("5/5 packets, avg 0.051 ms");
    if (padding > sizeof message - base - 1) padding = sizeof message - base - 1;
    memcpy(message, "5/5 packets, avg 0.051 ms", base);
    memset(message + base, ' ', padding);
    message[base + padding] = 0;
    bson_t *doc = bson_new();
    bson_t child;
    BSON_APPEND_UTF8(doc, "_id", id);
    BSON_APPEND_UTF8(doc, "category", "healthmonitor");
    BSON_APPEND_UTF8(doc, "type", "ping");
    BSON_APPEND_UTF8(doc, "check", "ping");
    BSON_APPEND_UTF8(doc, "label", label);
    BSON_APPEND_UTF8(doc, "status", i % 10 == 0 ? "failure" : "success");
    BSON_APPEND_UTF8(doc, "message", message);
    BSON_APPEND_DOCUMENT_BEGIN(doc, "measurement", &child);
    BSON_APPEND_DOUBLE(&child, "avg", 0.051);
    BSON_APPEND_DOUBLE(&child, "loss", 0.0);
    BSON_APPEND_INT64(&child, "received", 5);
    BSON_APPEND_INT64(&child, "sent", 5);
    BSON_APPEND_BOOL(&child, "up", true);
    bson_append_document_end(doc, &child);
    BSON_APPEND_DATE_TIME(doc, "created", created);
    BSON_APPEND_DOUBLE(doc, "elapsed", 4.01);
    BSON_APPEND_DOCUMENT_BEGIN(doc, "config", &child);
    BSON_APPEND_INT64(&child, "count", 5);
    BSON_APPEND_UTF8(&child, "host", "clowder.example.org");
    BSON_APPEND_INT64(&child, "sleep", 60);
    bson_append_document_end(doc, &child);
    BSON_APPEND_UTF8(doc, "host", "bench");
    return doc;
}

static void die(const char *what, const bson_error_t *error) {
    fprintf(stderr, "mongo_insert: %s failed: %s\n", what, error->message);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: mongo_insert URI DATABASE COUNT SIZE BATCH\n");
        return 2;
    }
    const char *uri = argv[1], *database = argv[2];
    long count = atol(argv[3]), size = atol(argv[4]), batch = atol(argv[5]);
    mongoc_init();
    mongoc_client_t *client = mongoc_client_new(uri);
    if (!client) {
        fprintf(stderr, "mongo_insert: bad URI %s\n", uri);
        return 1;
    }
    mongoc_client_set_error_api(client, 2);
    mongoc_database_t *db = mongoc_client_get_database(client, database);
    mongoc_collection_t *collection = mongoc_database_get_collection(db, "results");
    bson_error_t error;
    bson_t reply;

    bson_t *indexes = BCON_NEW(
        "createIndexes", BCON_UTF8("results"), "indexes", "[",
        "{", "key", "{", "label", BCON_INT32(1), "created", BCON_INT32(-1), "}", "name", BCON_UTF8("label_1_created_-1"), "}",
        "{", "key", "{", "check", BCON_INT32(1), "created", BCON_INT32(-1), "}", "name", BCON_UTF8("check_1_created_-1"), "}",
        "]");
    if (!mongoc_database_command_simple(db, indexes, NULL, &reply, &error)) die("createIndexes", &error);
    bson_destroy(&reply);
    bson_destroy(indexes);

    bson_t *options = BCON_NEW("ordered", BCON_BOOL(false), "writeConcern", "{", "w", BCON_INT32(1), "j", BCON_BOOL(true),
                               "wtimeout", BCON_INT32(10000), "}");

    // The documents are made before the clock starts, as sink-bench makes its results.
    int64_t created = (int64_t)time(NULL) * 1000;
    bson_t *probe = document(0, created, 0);
    size_t padding = size > (long)probe->len ? (size_t)size - probe->len : 0;
    bson_destroy(probe);
    bson_t **documents = malloc(count * sizeof *documents);
    for (long i = 0; i < count; i++) documents[i] = document(i, created, padding);

    double cpu0 = cpu();
    double start = now();
    for (long first = 0; first < count; first += batch) {
        long n = first + batch <= count ? batch : count - first;
        if (!mongoc_collection_insert_many(collection, (const bson_t **)documents + first, (size_t)n, options, &reply, &error))
            die("insert_many", &error);
        bson_destroy(&reply);
    }
    double elapsed = now() - start;
    double used = cpu() - cpu0;
    printf("%.0f docs/s %.2f us_per_doc %ld documents %u bytes batch %ld\n", count / elapsed, 1e6 * used / count, count,
           documents[0]->len, batch);

    for (long i = 0; i < count; i++) bson_destroy(documents[i]);
    free(documents);
    bson_destroy(options);
    if (!mongoc_database_drop(db, &error)) fprintf(stderr, "mongo_insert: could not drop %s: %s\n", database, error.message);
    mongoc_collection_destroy(collection);
    mongoc_database_destroy(db);
    mongoc_client_destroy(client);
    mongoc_cleanup();
    return 0;
}
