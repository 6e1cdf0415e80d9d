"""AFN 0DH class-2 frozen/history data (请求2类数据), Std-2013 §5.13."""
