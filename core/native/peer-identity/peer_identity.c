/*
 * Who is on the other end of a Unix socket, as the kernel says. Node has no SO_PEERCRED and no
 * getgrouplist, and the npm package for the first (`peercred`) returns the uid as the gid;
 * these two calls are small enough to own.
 *
 *   peerCredentials(fd) -> { pid, uid, gid }   getsockopt(SO_PEERCRED) on a connected socket
 *   groupsOf(name, gid)  -> number[]           getgrouplist(3): every group NSS knows (files,
 *                                              LDAP, sssd), the primary gid included
 *   userOf(uid)          -> { name, gid, home } | null   getpwuid_r(3), through NSS
 *   groupName(gid)       -> string | null       getgrgid_r(3), through NSS
 *
 * Both throw an Error whose message names the call and says why (the errno text where there is
 * one), with the numeric `errno` set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

/* Throws an Error with `text` as its message and the numeric errno attached; returns NULL for
 * the caller to return. */
static napi_value throw_with_errno(napi_env env, const char *text, int err) {
  napi_value msg, error, code;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &error);
  napi_create_int32(env, err, &code);
  napi_set_named_property(env, error, "errno", code);
  napi_throw(env, error);
  return NULL;
}

/* Throws `call: strerror(err)`. */
static napi_value throw_errno(napi_env env, const char *call, int err) {
  char text[256];
  snprintf(text, sizeof text, "%s: %s", call, strerror(err));
  return throw_with_errno(env, text, err);
}

/* Reads a whole number in [0, max]; napi_get_value_int32/uint32 would silently truncate 3.7 to
 * 3 and wrap -1 to 4294967295, and a wrapped id is exactly what must never get through. */
static int get_whole(napi_env env, napi_value value, double max, uint32_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return 0;
  if (!(number >= 0 && number <= max) || number != (double)(uint32_t)number) return 0;
  *out = (uint32_t)number;
  return 1;
}

/* Reads the one whole-number argument of a call, or throws a TypeError saying `usage`;
 * returns 0 when it threw. */
static int one_whole_argument(napi_env env, napi_callback_info info, double max, const char *usage, uint32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_whole(env, argv[0], max, out)) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

static napi_value set_uint(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  napi_create_uint32(env, value, &number);
  napi_set_named_property(env, object, name, number);
  return object;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  uint32_t fd;
  if (!one_whole_argument(env, info, 2147483647.0, "peerCredentials: expected a file descriptor (a number >= 0)", &fd)) return NULL;
#ifdef SO_PEERCRED
  struct ucred cred;
  socklen_t length = sizeof cred;
  if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  }
  /* A socket with no peer credentials (TCP, a socket never connected) answers uid -1, gid -1:
   * never let (uid_t)-1 pass for an identity. */
  if (length != sizeof cred || cred.uid == (uid_t)-1 || cred.gid == (gid_t)-1) {
    return throw_with_errno(env, "getsockopt(SO_PEERCRED): the socket has no peer credentials (not a connected Unix socket)", ENOTCONN);
  }
  napi_value result;
  napi_create_object(env, &result);
  set_uint(env, result, "pid", (uint32_t)cred.pid);
  set_uint(env, result, "uid", (uint32_t)cred.uid);
  set_uint(env, result, "gid", (uint32_t)cred.gid);
  return result;
#else
  (void)fd;
  return throw_with_errno(env, "peerCredentials: SO_PEERCRED is not available on this system (Linux only)", ENOSYS);
#endif
}

static napi_value groups_of(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[256];
  size_t name_length;
  uint32_t primary;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok ||
      name_length == 0 || name_length >= sizeof name - 1 || strlen(name) != name_length ||
      !get_whole(env, argv[1], 4294967294.0, &primary)) {
    napi_throw_type_error(env, NULL, "groupsOf: expected a user name (1 to 254 bytes, no NUL) and a primary gid (0 to 4294967294)");
    return NULL;
  }
  /* getgrouplist answers -1 when the buffer is too small and (glibc) sets `count` to the size
   * it needs; grow to that, or double where a libc does not say, until the list fits. */
  int capacity = 16;
  gid_t *groups = NULL;
  for (;;) {
    gid_t *grown = realloc(groups, (size_t)capacity * sizeof *groups);
    if (grown == NULL) {
      free(groups);
      return throw_errno(env, "getgrouplist", ENOMEM);
    }
    groups = grown;
    int count = capacity;
    errno = 0;
    if (getgrouplist(name, (gid_t)primary, groups, &count) >= 0) {
      napi_value result, gid;
      napi_create_array_with_length(env, (size_t)count, &result);
      for (int i = 0; i < count; i++) {
        napi_create_uint32(env, (uint32_t)groups[i], &gid);
        napi_set_element(env, result, (uint32_t)i, gid);
      }
      free(groups);
      return result;
    }
    if (capacity >= 65536) { /* NGROUPS_MAX on Linux: more means something is wrong */
      free(groups);
      return throw_errno(env, "getgrouplist", errno != 0 ? errno : ERANGE);
    }
    capacity = count > capacity ? count : capacity * 2;
  }
}

/* Runs a *_r lookup with a buffer grown on ERANGE; returns 1 found, 0 not found, -1 error (errno in *err). */
#define LOOKUP_R(call, result_ptr, err)                                          \
  do {                                                                           \
    size_t size = 1024;                                                          \
    for (;;) {                                                                   \
      char *grown = realloc(buffer, size);                                       \
      if (grown == NULL) { *(err) = ENOMEM; found = -1; break; }                \
      buffer = grown;                                                            \
      int rc = (call);                                                           \
      if (rc == ERANGE && size < (1u << 20)) { size *= 2; continue; }            \
      if (rc != 0) { *(err) = rc; found = -1; break; }                           \
      found = *(result_ptr) != NULL;                                             \
      break;                                                                     \
    }                                                                            \
  } while (0)

static napi_value user_of(napi_env env, napi_callback_info info) {
  uint32_t uid;
  if (!one_whole_argument(env, info, 4294967294.0, "userOf: expected a user id (0 to 4294967294)", &uid)) return NULL;
  struct passwd entry, *result = NULL;
  char *buffer = NULL;
  int found = 0, err = 0;
  LOOKUP_R(getpwuid_r((uid_t)uid, &entry, buffer, size, &result), &result, &err);
  if (found < 0) {
    free(buffer);
    return throw_errno(env, "getpwuid_r", err);
  }
  napi_value value;
  if (!found) {
    free(buffer);
    napi_get_null(env, &value);
    return value;
  }
  napi_value text;
  napi_create_object(env, &value);
  napi_create_string_utf8(env, entry.pw_name, NAPI_AUTO_LENGTH, &text);
  napi_set_named_property(env, value, "name", text);
  set_uint(env, value, "gid", (uint32_t)entry.pw_gid);
  napi_create_string_utf8(env, entry.pw_dir ? entry.pw_dir : "", NAPI_AUTO_LENGTH, &text);
  napi_set_named_property(env, value, "home", text);
  free(buffer);
  return value;
}

static napi_value group_name(napi_env env, napi_callback_info info) {
  uint32_t gid;
  if (!one_whole_argument(env, info, 4294967294.0, "groupName: expected a group id (0 to 4294967294)", &gid)) return NULL;
  struct group entry, *result = NULL;
  char *buffer = NULL;
  int found = 0, err = 0;
  LOOKUP_R(getgrgid_r((gid_t)gid, &entry, buffer, size, &result), &result, &err);
  if (found < 0) {
    free(buffer);
    return throw_errno(env, "getgrgid_r", err);
  }
  napi_value value;
  if (found) napi_create_string_utf8(env, entry.gr_name, NAPI_AUTO_LENGTH, &value);
  else napi_get_null(env, &value);
  free(buffer);
  return value;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
    {"peerCredentials", NULL, peer_credentials, NULL, NULL, NULL, napi_default, NULL},
    {"groupsOf", NULL, groups_of, NULL, NULL, NULL, napi_default, NULL},
    {"userOf", NULL, user_of, NULL, NULL, NULL, napi_default, NULL},
    {"groupName", NULL, group_name, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
