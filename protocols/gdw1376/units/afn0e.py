"""AFN 0EH class-3 event data (请求3类数据), Std-2013 §5.14 and appendix B."""
