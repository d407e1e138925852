#ifndef HEALTHMONITOR_CMONGO_SHIM_H
#define HEALTHMONITOR_CMONGO_SHIM_H
// libmongoc and libbson have no variadic entry points the notifier needs (the BCON macros are
// avoided on purpose); the module exists so Swift sees the headers through pkg-config.
#include <mongoc/mongoc.h>
#endif
