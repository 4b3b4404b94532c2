# Read SAS transport files with R's haven (an independent XPT reader) and write what it read:
# each dataset as CSV (dates as ISO 8601, missing as empty) and its variables' labels.
# usage: Rscript xpt_read.R OUT_DIR FILE.xpt...
suppressMessages(library(haven))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
for (path in args[-1]) {
  d <- read_xpt(path)
  name <- sub("\\.xpt$", "", basename(path))
  labels <- vapply(names(d), function(col) {
    l <- attr(d[[col]], "label")
    if (is.null(l)) "" else l
  }, character(1))
  for (col in names(d)) {
    if (inherits(d[[col]], "Date")) d[[col]] <- format(d[[col]], "%Y-%m-%d")
  }
  write.csv(as.data.frame(d), file.path(out, paste0(name, ".haven.csv")), row.names = FALSE,
            na = "")
  writeLines(paste(names(d), labels, sep = "\t"), file.path(out, paste0(name, ".labels.tsv")))
}
