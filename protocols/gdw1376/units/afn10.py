"""AFN 10H data forwarding (数据转发), Std-2013 §5.16."""
