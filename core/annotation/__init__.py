"""Annotation: sampling pools to judge, journalled judgements, agreement, pooling of unjudged hits."""
