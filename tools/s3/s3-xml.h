/* s3-xml.h: the little of XML that runnerd-s3 reads from an S3 server: the
 * text of simple elements (<Code> of an error, <Key>, <IsTruncated> and
 * <NextContinuationToken> of a listing). Not a parser: it finds `<NAME>`,
 * takes the text up to the next '<', which must open `</NAME>`, and decodes
 * the five named entities and numeric ones. Every answer is bounded; text
 * that is too long or malformed is refused, never cut. */
#pragma once

#include <stddef.h>

/* The text of the next element `name` at or after *pos in xml[0..n), with
 * entities decoded, in *ret (malloc'd, NUL-terminated; at most max bytes
 * before decoding). *pos moves past the element. Returns 0, -ENOENT when
 * there is no further such element, -EINVAL when it is malformed or longer
 * than max, -ENOMEM. A numeric entity outside printable ASCII decodes to
 * '?', so such a text never passes a check for plain names. */
int s3_xml_next(const char *xml, size_t n, const char *name, size_t *pos, size_t max, char **ret);

/* The first element `name`: s3_xml_next() from the start. */
int s3_xml_text(const char *xml, size_t n, const char *name, size_t max, char **ret);
