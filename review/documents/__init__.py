"""Source documents beyond inline text: intake, processing and locating evidence in them.

The contract between the parts (see review.models.Document and DocumentPage):

- intake (review/documents/intake.py): bytes in -> a Document, stored once per sha256 through
  Django's default storage, type sniffed from the content (review/documents/sniff.py), limits
  from settings (DOCUMENT_MAX_BYTES -> 413, DOCUMENT_MAX_PAGES -> 413, unknown type -> 415).
  Text documents are READY at once; everything else is PENDING and processed on commit.
- processing (review/documents/processing.py, run by review.tasks.document_process):
  PDF -> one DocumentPage per page (PNG rendered with pypdfium2, the page's text with a box per
  character); PNG/JPEG -> one page, TIFF -> one page per frame (no text layer: flag
  "no_text_layer"); HTML -> sanitised `html` (nh3) and its visible `text`; e-mail (RFC 822) ->
  headers and body as sanitised `html` and `text`. Document.text is the pages' texts joined by
  "\\f"; DocumentPage.text_offset/text_length say where each page's text sits in it, and
  char_boxes hold one [x0, y0, x1, y1] per character in ten-thousandths of the page size.
  An encrypted or corrupt PDF ends READY with a flag ("encrypted" / "corrupt") and `error` set:
  the item stays reviewable with a visible notice. Transient failures are retried by Celery.
- locating (review/documents/locate.py): a field's evidence (quote, character span, page+bbox)
  -> highlights: the text span and, on paged documents, boxes per page for the viewer.
"""
