"""AFN 0CH class-1 real-time data (请求1类数据), Std-2013 §5.12."""
