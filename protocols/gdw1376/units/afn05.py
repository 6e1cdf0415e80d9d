"""AFN 05H control commands (控制命令), Std-2013 §5.6."""
