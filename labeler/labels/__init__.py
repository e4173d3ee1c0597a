"""The label step and what makes a label good.

labeling.py   the label step over a run: inputs, concurrency, versions
naming.py     names for the topic tree's upper nodes, bottom-up
exemplars.py  the documents a prompt shows: sub-groups that cover the topic
claims.py     claims in a label or summary that the documents do not support
distinct.py   labels that fit their topic and differ from each other
injection.py  documents are untrusted prompt input
"""
