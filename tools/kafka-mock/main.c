/* placeholder replaced by the kafka-mock work */
int main(void)
{
    return 1;
}
