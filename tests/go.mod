module github.com/kafka-restaurants/kafka-restaurants/tests

go 1.26
