"""AFN 04H set parameters (设置参数) and AFN 0AH query parameters (查询参数).

Std-2013 §5.5 and §5.10: AFN04 downlink and AFN0A uplink carry the same layouts.
"""
