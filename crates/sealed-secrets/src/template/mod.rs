//! Go `text/template` rendering of `template.data` (filled in by the template work).
