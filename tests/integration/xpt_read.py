#!/usr/bin/python3
"""Read SAS transport files with pandas' read_sas (an independent XPT reader; Debian's
python3-pandas, hence /usr/bin/python3) and print what it read as JSON: per file its columns and
rows, numbers as numbers, missing as null, text as text.

usage: xpt_read.py FILE.xpt...
"""
import json
import math
import sys

import pandas

result = {}
for path in sys.argv[1:]:
    frame = pandas.read_sas(path, format="xport", encoding="utf-8")
    rows = []
    for record in frame.itertuples(index=False):
        row = []
        for value in record:
            if isinstance(value, float) and math.isnan(value):
                row.append(None)
            elif isinstance(value, bytes):
                row.append(value.decode("utf-8"))
            else:
                row.append(value)
        rows.append(row)
    result[path] = {"columns": list(frame.columns), "rows": rows}
json.dump(result, sys.stdout)
