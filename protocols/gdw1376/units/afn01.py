"""AFN 01H reset (复位), Std-2013 §5.2."""
