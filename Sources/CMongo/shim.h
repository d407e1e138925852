#ifndef HEALTHMONITOR_CMONGO_SHIM_H
#define HEALTHMONITOR_CMONGO_SHIM_H
// libbson is linked as usual (pkg-config libbson-1.0). libmongoc is not: linking it runs its
// load-time constructor (OpenSSL, counters) in every process, about 5 MB of resident pages
// where no mongo notifier is configured. Its headers are included by their path under the
// include directory (upstream's layout, which its pkg-config file names), and
// Notifiers/Mongo/LibMongoc.swift opens the library with dlopen on first use and calls it
// through the function pointer types below, made from the real declarations.
// The BCON macros (variadic) are avoided on purpose.
#include <libmongoc-1.0/mongoc/mongoc.h>

#define HM_MONGOC_FN(name) typedef __typeof__(&name) hm_##name##_fn;
HM_MONGOC_FN(mongoc_init)
HM_MONGOC_FN(mongoc_log_set_handler)
HM_MONGOC_FN(mongoc_uri_new_with_error)
HM_MONGOC_FN(mongoc_uri_destroy)
HM_MONGOC_FN(mongoc_uri_has_option)
HM_MONGOC_FN(mongoc_uri_set_option_as_int32)
HM_MONGOC_FN(mongoc_uri_get_appname)
HM_MONGOC_FN(mongoc_uri_set_appname)
HM_MONGOC_FN(mongoc_client_new_from_uri_with_error)
HM_MONGOC_FN(mongoc_client_set_error_api)
HM_MONGOC_FN(mongoc_client_get_database)
HM_MONGOC_FN(mongoc_client_command_simple)
HM_MONGOC_FN(mongoc_client_destroy)
HM_MONGOC_FN(mongoc_database_get_collection)
HM_MONGOC_FN(mongoc_database_command_simple)
HM_MONGOC_FN(mongoc_database_destroy)
HM_MONGOC_FN(mongoc_collection_insert_many)
HM_MONGOC_FN(mongoc_collection_create_bulk_operation_with_opts)
HM_MONGOC_FN(mongoc_collection_find_with_opts)
HM_MONGOC_FN(mongoc_collection_delete_many)
HM_MONGOC_FN(mongoc_collection_destroy)
HM_MONGOC_FN(mongoc_bulk_operation_insert_with_opts)
HM_MONGOC_FN(mongoc_bulk_operation_update_one_with_opts)
HM_MONGOC_FN(mongoc_bulk_operation_execute)
HM_MONGOC_FN(mongoc_bulk_operation_destroy)
HM_MONGOC_FN(mongoc_cursor_next)
HM_MONGOC_FN(mongoc_cursor_error)
HM_MONGOC_FN(mongoc_cursor_destroy)
#undef HM_MONGOC_FN

#endif
