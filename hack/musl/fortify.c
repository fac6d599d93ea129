/*
 * podrun's cgo binaries are linked statically against musl (see the Makefile), but Debian
 * ships libseccomp only as built for glibc, with _FORTIFY_SOURCE: its objects call glibc's
 * checked __fprintf_chk (in its PFC text export, which podrun never uses). Everything else
 * they need (malloc, stdio on an opaque FILE *, __errno_location, __stack_chk_fail with the
 * canary at %fs:0x28) musl provides with the same ABI. The Makefile adds this object to its
 * copy of libseccomp.a, so the archive resolves the symbol itself.
 */
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *stream, int flag, const char *format, ...);

int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	va_list ap;
	int n;

	(void)flag; /* the fortify level: the checks it asks for are glibc's own */
	va_start(ap, format);
	n = vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}
